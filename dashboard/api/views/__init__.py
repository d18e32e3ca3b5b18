"""The API's route handlers: endpoints (list, one, series, costs), overview (teams, forecasts,
freshness) and insights (recommendations, quotas). Every handler is wrapped by
dashboard.api.http.api_view and reads Postgres only."""
