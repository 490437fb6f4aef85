from clipguard.app.cli import main

main()
