from clipguard.cli import main

main()
