from sockdojo.cli.entry import main

main()
