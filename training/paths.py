"""Where the pipeline reads and writes, relative to the repository root."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "public", "models")
RECORDS_DIR = os.path.join(ROOT, "training", "records")
CKPT_DIR = os.environ.get("TRAIN_CKPT_DIR", os.path.join(ROOT, "training", "checkpoints"))
GOLDEN_DIR = os.path.join(ROOT, "test", "golden")


def checkpoint(model_id: str) -> str:
    return os.path.join(CKPT_DIR, f"{model_id}.ckpt.pt")


def final_weights(model_id: str) -> str:
    return os.path.join(CKPT_DIR, f"{model_id}.final.pt")


def record(model_id: str) -> str:
    """The training record of a weight set (what the model card is built from)."""
    return os.path.join(RECORDS_DIR, f"{model_id}.json")
