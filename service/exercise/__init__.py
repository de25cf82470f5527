"""Exercise mode (oefening): see docs/exercise.md."""
