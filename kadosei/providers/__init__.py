"""Payment service provider (PSP) adapters behind one interface, and their registry."""
