from osaccess.cli import main

main()
