"""Workflow steps: pure functions of their input and config (import only `docflow.domain`)."""
