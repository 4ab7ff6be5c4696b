"""conveyor's benchmark harness (issue 7): `python -m bench` or `make bench`.

It runs the same task graphs with conveyor (`conveyor run`, and through a running
`conveyor server`) and with a bare baseline (`bench/baseline.py`: graphlib and a 2-worker
pool), in the same run, and reports each figure as a ratio to that baseline. See
`python -m bench --help`; the table goes to stdout, the JSON to bench/results/latest.json.
"""
