// Package benchrun measures edgeguard end to end: N simulated cameras
// streaming real H.264 over RTSP, the service as its own process, a real
// Mosquitto and a subscriber (e2e_test.go, run by `make bench-e2e`).
//
// What the harness needs outside a test lives here: reading a process's CPU
// time and RSS from /proc (the service runs as a separate process so that
// its figures are its own, not mixed with the simulated cameras'), parsing
// the service's Prometheus text, percentiles, and the plot (plot.go). None of
// it is on the service's path; it exists so the performance claims in
// docs/performance.md come from one repeatable run.
package benchrun

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime/stime in /proc/PID/stat. Linux
// fixes it at 100 for user space on every architecture Go supports.
const clockTick = 100

// ProcCPU returns the user+system CPU time the process has used so far,
// from /proc/PID/stat (fields 14 and 15).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces:
	// count fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("benchrun: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("benchrun: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("benchrun: /proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// ProcRSS returns the process's resident set size (VmRSS) in bytes.
func ProcRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("benchrun: VmRSS %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("benchrun: no VmRSS for pid %d", pid)
}

// MachineCPU is the machine's cumulative busy and total CPU time from the
// first line of /proc/stat, in ticks; the difference of two samples says how
// busy all cores were in between (the service, the cameras, the broker and
// anything else on the box).
type MachineCPU struct{ Busy, Total uint64 }

// ReadMachineCPU samples /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return MachineCPU{}, err
	}
	fs := strings.Fields(line)
	if len(fs) < 5 || fs[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("benchrun: unexpected /proc/stat line %q", line)
	}
	var m MachineCPU
	for i, v := range fs[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return MachineCPU{}, err
		}
		m.Total += n
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += n
		}
	}
	return m, nil
}

// BusyCores is the average number of busy cores between two samples.
func BusyCores(a, b MachineCPU, cores int) float64 {
	if b.Total <= a.Total {
		return 0
	}
	return float64(b.Busy-a.Busy) / float64(b.Total-a.Total) * float64(cores)
}

// LoadAvg returns /proc/loadavg's first three fields, e.g. "1.02 0.88 0.75".
func LoadAvg() string {
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

// Metrics is a Prometheus text exposition reduced to what the benchmark
// needs: the sum of each metric over its series, and per reason label.
type Metrics struct {
	sum      map[string]float64
	byReason map[string]float64 // name + "/" + reason
	byCamera map[string]map[string]float64
}

// ParseMetrics reads the Prometheus text format (the subset the service
// emits: no timestamps, no escaped quotes in label values).
func ParseMetrics(r io.Reader) (*Metrics, error) {
	m := &Metrics{sum: map[string]float64{}, byReason: map[string]float64{}, byCamera: map[string]map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("benchrun: metric line %q", line)
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("benchrun: metric line %q: %w", line, err)
		}
		series := line[:sp]
		name, labels := series, ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name, labels = series[:i], strings.TrimSuffix(series[i+1:], "}")
		}
		m.sum[name] += v
		for _, kv := range splitLabels(labels) {
			switch kv[0] {
			case "reason":
				m.byReason[name+"/"+kv[1]] += v
			case "camera":
				if m.byCamera[name] == nil {
					m.byCamera[name] = map[string]float64{}
				}
				m.byCamera[name][kv[1]] += v
			}
		}
	}
	return m, sc.Err()
}

func splitLabels(s string) [][2]string {
	var out [][2]string
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return out
		}
		end := strings.IndexByte(s[eq+2:], '"')
		if end < 0 {
			return out
		}
		out = append(out, [2]string{s[:eq], s[eq+2 : eq+2+end]})
		s = strings.TrimPrefix(s[eq+2+end+1:], ",")
	}
	return out
}

// Sum is the metric summed over all its series (0 if absent).
func (m *Metrics) Sum(name string) float64 { return m.sum[name] }

// Reason is the metric summed over the series with reason=reason.
func (m *Metrics) Reason(name, reason string) float64 { return m.byReason[name+"/"+reason] }

// PerCamera is the metric by camera label.
func (m *Metrics) PerCamera(name string) map[string]float64 { return m.byCamera[name] }

// Percentile returns the p-th percentile (0..100) of ds by the nearest-rank
// method; 0 for none. ds is sorted in place.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	rank := int(p/100*float64(len(ds)) + 0.999999)
	rank = min(max(rank, 1), len(ds))
	return ds[rank-1]
}
