package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the schedule must not depend on the device's zoneinfo files
)

// Schedule limits when events may leave the device. Times are wall-clock
// times in Timezone, so a window keeps its meaning across daylight saving.
type Schedule struct {
	Timezone string   `yaml:"timezone"`
	Windows  []Window `yaml:"windows"`

	loc *time.Location // set by validation
}

// Window is a time range on some weekdays. From is inclusive, To exclusive;
// "24:00" is the end of the day. A window does not cross midnight (write
// two windows instead), so there is no doubt which day it belongs to.
type Window struct {
	Days []string `yaml:"days"`
	From string   `yaml:"from"`
	To   string   `yaml:"to"`

	days     [7]bool // by time.Weekday
	from, to int     // minutes since midnight
}

// Weekdays are the accepted day names, in order from Monday.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var weekdayOf = map[string]time.Weekday{"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday}

// allows reports whether now falls into a window; a nil schedule allows
// all times.
func (s *Schedule) allows(now time.Time) bool {
	if s == nil {
		return true
	}
	if s.loc == nil {
		return false // not validated: fail closed
	}
	t := now.In(s.loc)
	m := t.Hour()*60 + t.Minute()
	for i := range s.Windows {
		w := &s.Windows[i]
		if w.days[t.Weekday()] && m >= w.from && m < w.to {
			return true
		}
	}
	return false
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes since midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day; write HH:MM, e.g. 07:30", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day; allowed: 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}
