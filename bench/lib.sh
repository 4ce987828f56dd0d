# Shell helpers of the bench scripts (sourced, not run).

# A free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_ready URL LOG: waits up to 2 minutes for URL to answer 2xx; otherwise prints the log's
# tail and exits 1.
wait_ready() {
  for _ in $(seq 1 240); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$1 did not answer; log:" >&2
  tail -n 30 "$2" >&2
  exit 1
}
