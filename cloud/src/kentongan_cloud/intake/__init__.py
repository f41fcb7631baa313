"""One intake for every source: MQTT from gateways, HTTP from phones and residents."""
