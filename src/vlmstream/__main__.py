from vlmstream.cli import main

main()
