//go:build !linux

package loadtest

import (
	"errors"
	"syscall"
)

// errNotLinux: CPU and memory figures come from /proc.
var errNotLinux = errors.New("loadtest: needs Linux (/proc)")

type procStat struct {
	CPUTicks uint64
	RSS      uint64
	HWM      uint64
	RSSAnon  uint64
	RSSFile  uint64
}

func readProc(int) (procStat, error)  { return procStat{}, errNotLinux }
func clockTicks() float64             { return 100 }
func udpDrops(int) (uint64, error)    { return 0, errNotLinux }
func loadAvg() [3]float64             { return [3]float64{} }
func childAttr() *syscall.SysProcAttr { return nil }
