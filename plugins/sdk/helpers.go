package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
)

// invalidError marks a task the agent cannot accept.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

// Invalid marks err as a rejection of the task itself (a bad payload or
// configuration): the host learns that retrying the task unchanged fails
// the same way.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return &invalidError{err: err}
}

// Invalidf is Invalid(fmt.Errorf(format, args...)).
func Invalidf(format string, args ...any) error {
	return Invalid(fmt.Errorf(format, args...))
}

// isInvalid reports whether err was marked by Invalid.
func isInvalid(err error) bool {
	var ie *invalidError
	return errors.As(err, &ie)
}

// DecodePayload decodes the task's JSON payload into v. An empty payload
// leaves v as it is; a malformed one is an Invalid error.
func DecodePayload(task *Task, v any) error {
	if len(task.Payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(task.Payload, v); err != nil {
		return Invalidf("payload: %v", err)
	}
	return nil
}

// DecodeConfig decodes the task's JSON configuration into v. An empty
// configuration leaves v as it is; a malformed one is an Invalid error.
func DecodeConfig(task *Task, v any) error {
	if len(task.Config) == 0 {
		return nil
	}
	if err := json.Unmarshal(task.Config, v); err != nil {
		return Invalidf("config of agent type %q: %v", task.AgentType, err)
	}
	return nil
}

// FileArtifact describes the file at path as an artifact called name, with
// its size and SHA-256 digest.
func FileArtifact(name, path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact %q: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact %q: %w", name, err)
	}
	a := Artifact{Name: name, Path: path, Size: n}
	h.Sum(a.SHA256[:0])
	return a, nil
}

type loggerKey struct{}

// Logger returns the logger of the task whose context is ctx: the
// plugin's logger with the work order, attempt and agent type attached.
// Its lines go to the node's log, not into the task's evidence (use the
// Reporter for that). Outside a task it returns the plugin's logger, or a
// logger that discards everything.
func Logger(ctx context.Context) hclog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return hclog.NewNullLogger()
}

func withLogger(ctx context.Context, l hclog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}
