"""Budget alerts: evaluation (spend against forecast, per rule and scope) writes alerts and queues
notifications in an outbox; delivery sends them through one transport per channel kind."""
