"""Example third-party plugin: a Go module proxy speaking the GOPROXY protocol."""
