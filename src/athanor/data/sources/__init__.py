"""Dataset sources; each module registers its catalog entries on import."""
