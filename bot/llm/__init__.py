"""Language models behind one small interface (`Generator`): llama.cpp in process today."""
