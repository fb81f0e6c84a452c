from sockdojo.cli.main import main

main()
