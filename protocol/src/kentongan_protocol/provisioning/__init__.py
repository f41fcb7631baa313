"""Provisioning: the district and gateway YAML files, their checks, and what is generated
from them (broker credentials and ACL, the technician's bundle for a Pi)."""
