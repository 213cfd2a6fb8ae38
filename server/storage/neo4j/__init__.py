"""The graph store on Neo4j 5.x / 2025.x (official async driver). All Cypher is in cypher.py
(re-exporting one cypher_*.py module per domain) and lineage_cypher.py."""
