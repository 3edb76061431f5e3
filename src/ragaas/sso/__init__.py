"""Single sign-on with OpenID Connect: per-organisation providers and the login flow."""
