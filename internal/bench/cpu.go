// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the host's and this process's CPU time at one instant, so
// a phase can say how busy the machine was and how much of that was the
// benchmark itself (the rest: the PostgreSQL server, or other work on a
// shared machine that makes the figures pessimistic).
type cpuSample struct {
	at         time.Time
	hostBusy   time.Duration // all CPUs, not idle or iowait
	hostTotal  time.Duration
	self       time.Duration
	hostKnown  bool
	selfKnown  bool
	clockTicks float64
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), clockTicks: 100}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) > 5 && f[0] == "cpu" {
			var total, idle float64
			for i, v := range f[1:] {
				x, _ := strconv.ParseFloat(v, 64)
				total += x
				if i == 3 || i == 4 { // idle, iowait
					idle += x
				}
			}
			tick := time.Second / time.Duration(s.clockTicks)
			s.hostTotal, s.hostBusy, s.hostKnown = time.Duration(total)*tick, time.Duration(total-idle)*tick, true
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.selfKnown = true
	}
	return s
}

// CPUUse is how busy the CPUs were during a phase, as a share of all of
// them (1 = every CPU busy all the time).
type CPUUse struct {
	Host, Self float64
	Known      bool
}

func cpuBetween(a, b cpuSample) CPUUse {
	if !a.hostKnown || !b.hostKnown || !a.selfKnown || !b.selfKnown || b.hostTotal <= a.hostTotal {
		return CPUUse{}
	}
	total := float64(b.hostTotal - a.hostTotal)
	return CPUUse{Host: float64(b.hostBusy-a.hostBusy) / total, Self: float64(b.self-a.self) / total, Known: true}
}
