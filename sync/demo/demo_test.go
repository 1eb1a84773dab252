package demo

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestScriptOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, logs bytes.Buffer
	err := Run(ctx, Options{Out: &out, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Listen: "127.0.0.1:0", Dir: t.TempDir()}, true)
	t.Logf("story:\n%s", out.String())
	if err != nil {
		t.Logf("log:\n%s", logs.String())
		t.Fatalf("Run: %v", err)
	}
}
