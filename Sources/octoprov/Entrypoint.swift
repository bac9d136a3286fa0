import ArgumentParser
import ProvisionCommands

@main
struct Entrypoint {
    static func main() async {
        await Octoprov.main()
    }
}
