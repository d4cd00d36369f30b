package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what the load test reads about the daemon from /proc.
type procStat struct {
	CPUTicks uint64 // utime + stime
	RSS      uint64 // VmRSS, bytes
	HWM      uint64 // VmHWM (peak RSS), bytes
	RSSAnon  uint64 // RssAnon: heap, stacks (bytes)
	RSSFile  uint64 // RssFile: mapped binary pages (bytes)
}

// readProc reads the child's CPU time and memory from /proc.
func readProc(pid int) (procStat, error) {
	var st procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, fmt.Errorf("read stat: %w", err)
	}
	// The command name may hold spaces and parentheses: the fields start
	// after the last ')'. utime and stime are fields 14 and 15, i.e. the
	// 12th and 13th after the name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st, fmt.Errorf("parse stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("parse stat: %d fields", len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return st, fmt.Errorf("parse stat: utime %q stime %q", f[11], f[12])
	}
	st.CPUTicks = utime + stime

	s, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	defer s.Close()
	sc := bufio.NewScanner(s)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &st.RSS
		case "VmHWM":
			dst = &st.HWM
		case "RssAnon":
			dst = &st.RSSAnon
		case "RssFile":
			dst = &st.RSSFile
		}
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return st, fmt.Errorf("parse status %s: %w", k, err)
		}
		*dst = kb << 10
	}
	return st, sc.Err()
}

// clockTicks is the kernel's USER_HZ, the unit of utime and stime.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && n > 0 {
			return n
		}
	}
	return 100 // USER_HZ on every Linux architecture
}

// udpDrops sums the kernel's receive drops of the UDP sockets bound to
// port, from /proc/net/udp and udp6: datagrams the daemon never saw
// because its socket buffer was full.
func udpDrops(port int) (uint64, error) {
	var total uint64
	found := false
	for _, file := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 13 {
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseUint(hexPort, 16, 32)
			if err != nil || int(p) != port {
				continue
			}
			d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
			if err != nil {
				continue
			}
			total += d
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no UDP socket on port %d in /proc/net/udp", port)
	}
	return total, nil
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// childAttr makes the kernel kill the daemon if the load test dies first,
// so that no daemon outlives an interrupted run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
