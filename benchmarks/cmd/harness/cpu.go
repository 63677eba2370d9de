package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is a point in time of the machine's busy CPU time (/proc/stat),
// this process's (getrusage) and the server process's (/proc/PID/stat).
type cpuSample struct {
	at      time.Time
	machine float64 // seconds of non-idle CPU, all cores
	self    float64
	server  float64
}

const clkTck = 100 // USER_HZ on Linux

func sampleCPU(pid int) cpuSample {
	s := cpuSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
		for i := 1; i < len(f) && i <= 8; i++ {
			if i == 4 || i == 5 { // idle, iowait
				continue
			}
			v, _ := strconv.ParseFloat(f[i], 64)
			s.machine += v / clkTck
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = tv(ru.Utime) + tv(ru.Stime)
	}
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// Fields after the command name (which may hold spaces): utime
			// and stime are the 12th and 13th after the closing ')'.
			if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
				f := strings.Fields(string(b)[i+1:])
				if len(f) > 12 {
					u, _ := strconv.ParseFloat(f[11], 64)
					k, _ := strconv.ParseFloat(f[12], 64)
					s.server = (u + k) / clkTck
				}
			}
		}
	}
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// cores returns the cores used by this process, the server and everything
// else between s0 and s.
func (s cpuSample) cores(s0 cpuSample) (self, server, others float64) {
	d := s.at.Sub(s0.at).Seconds()
	if d <= 0 {
		return 0, 0, 0
	}
	self = (s.self - s0.self) / d
	server = (s.server - s0.server) / d
	others = max(0, (s.machine-s0.machine)/d-self-server)
	return self, server, others
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
