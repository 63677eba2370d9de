package history

import (
	"testing"
	"time"
)

func TestMySQLConfigTimeouts(t *testing.T) {
	for _, tt := range []struct {
		dsn               string
		dial, read, write time.Duration
		wantErr           bool
	}{
		{"root@tcp(127.0.0.1:3306)/test", 10 * time.Second, DefaultIOTimeout, DefaultIOTimeout, false},
		{"mysql://root@tcp(127.0.0.1:3306)/test?timeout=1s&readTimeout=2s&writeTimeout=3s", time.Second, 2 * time.Second, 3 * time.Second, false},
		{"root@tcp(127.0.0.1:3306)/", 0, 0, 0, true},
	} {
		cfg, err := mysqlConfig(tt.dsn)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: error %v", tt.dsn, err)
		}
		if err == nil && (cfg.Timeout != tt.dial || cfg.ReadTimeout != tt.read || cfg.WriteTimeout != tt.write) {
			t.Errorf("%s: timeouts %s %s %s; want %s %s %s", tt.dsn, cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout, tt.dial, tt.read, tt.write)
		}
	}
}
