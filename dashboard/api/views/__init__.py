"""The API's route handlers: endpoints (list, one, series, costs) and overview (teams, forecasts,
freshness). Every handler is wrapped by dashboard.api.http.api_view and reads Postgres only."""
