"""Apache TsFile (tree model, format versions 3 and 4): writer, reader and codecs."""
