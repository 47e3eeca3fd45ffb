package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bayannur/hotline/web"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("HOTLINE_ADDR", ":8080"), "listen address (env HOTLINE_ADDR)")
	data := fs.String("data", envOr("HOTLINE_DATA", "./data"), "data directory (env HOTLINE_DATA)")
	guide := fs.String("guide", envOr("HOTLINE_GUIDE", ""), "guide directory (env HOTLINE_GUIDE; default: built-in sample)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log := slog.Default()
	srv := web.New(log)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	log.Info("listening", "addr", ln.Addr().String(), "data", *data)

	// Health checks answer at once; the bot joins when its guide is indexed.
	ready := make(chan error, 1)
	go func() {
		start := time.Now()
		eng, err := loadEngine(ctx, *guide)
		if err != nil {
			ready <- err
			return
		}
		srv.SetBot(eng.bot)
		log.Info("bot ready", "entries", len(eng.guide.Entries), "took", time.Since(start).Round(time.Millisecond))
		ready <- nil
	}()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-ready:
		if err != nil {
			hs.Close()
			return err
		}
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
