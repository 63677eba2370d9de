package deps

import (
	_ "github.com/IBM/sarama"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "modernc.org/sqlite"
)
