import CaravanCLI

await CaravanCommand.runAsMain()
