"""Stores behind one small interface (``base.Store``): embedded pyoxigraph now, remote SPARQL later."""
