"""The run: plan, safety, engine, orchestrator, plan document, audit, rendering."""
