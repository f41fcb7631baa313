"""Fleet health: the periodic sweep that notices silent gateways and alerts technicians."""
