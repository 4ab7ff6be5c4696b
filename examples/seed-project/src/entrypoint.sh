#!/bin/sh
# The image's entrypoint: run the task with the image's own Python and packages.
set -eu
exec /opt/venv/bin/python /app/main.py "$@"
