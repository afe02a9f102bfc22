package fsm

import "strings"

// Failure classes the control loop can pull the andon cord on by itself
// (SchedulerConfig.AutoAndon). The andon it triggers carries the class.
const (
	// AutoAndonTestFailure: a test work order (agent type test or
	// tester, or stage test) failed its last attempt.
	AutoAndonTestFailure = "test_failure"
	// AutoAndonRepeatedCrash: a work order's attempts crashed (failed
	// without an agent's exit status) several times in a row.
	AutoAndonRepeatedCrash = "repeated_crash"
	// AutoAndonSLABreach: the leader recorded an SLA breach.
	AutoAndonSLABreach = "sla_breach"
)

// AutoAndonClasses returns the classes SchedulerConfig.AutoAndon accepts.
func AutoAndonClasses() []string {
	return []string{AutoAndonTestFailure, AutoAndonRepeatedCrash, AutoAndonSLABreach}
}

// validAutoAndonClass reports whether s is one of AutoAndonClasses.
func validAutoAndonClass(s string) bool {
	switch s {
	case AutoAndonTestFailure, AutoAndonRepeatedCrash, AutoAndonSLABreach:
		return true
	}
	return false
}

// validateAutoAndon checks SchedulerConfig.AutoAndon: known classes, each
// at most once.
func validateAutoAndon(classes []string) *Error {
	for i, c := range classes {
		if !validAutoAndonClass(c) {
			return Errorf(ErrInvalidArgument, "auto_andon[%d]: unknown failure class %q (valid: %s)",
				i, c, strings.Join(AutoAndonClasses(), ", "))
		}
		for j := range i {
			if classes[j] == c {
				return Errorf(ErrInvalidArgument, "auto_andon[%d]: %q repeated (auto_andon[%d])", i, c, j)
			}
		}
	}
	return nil
}

// AutoAndonOn reports whether class is listed in c.AutoAndon.
func (c SchedulerConfig) AutoAndonOn(class string) bool {
	for _, s := range c.AutoAndon {
		if s == class {
			return true
		}
	}
	return false
}
