"""Load generation and the benchmark: a generated district of virtual gateways against a real
Mosquitto and the cloud worker in its own process (`kentongan-bench --help`)."""
