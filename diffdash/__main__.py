from diffdash.cli import main

main()
