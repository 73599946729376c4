# xsock::text sources: filled in by the text work
