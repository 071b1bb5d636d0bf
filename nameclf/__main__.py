from nameclf.cli import main

main()
