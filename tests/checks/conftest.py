import sys
from pathlib import Path

# lintkit and models are helper modules next to these tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
