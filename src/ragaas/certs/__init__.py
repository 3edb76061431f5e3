"""Certificates: the private CA and the server/client certificates for internal mTLS."""
