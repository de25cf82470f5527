from noodnet.cli import main

main()
