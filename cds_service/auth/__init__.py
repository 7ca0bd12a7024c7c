"""Client authentication: the CDS Hooks client JWT, trusted issuers and their JWKS."""
