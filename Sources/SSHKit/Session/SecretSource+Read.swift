extension SecretSource {
    /// Reads the secret. A provider's own error (one sentence naming the reference) is kept as the message.
    func read(purpose: String) throws(SSHError) -> String {
        do {
            return try provider()
        } catch let error as SSHError {
            throw error
        } catch {
            throw SSHError(.credentialUnreadable, "Cannot read the \(purpose) (\(description)): \(error)")
        }
    }
}
