"""The graph store on Neo4j 5.x / 2025.x (official async driver). All Cypher is in cypher.py."""
