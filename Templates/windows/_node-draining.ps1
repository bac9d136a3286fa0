    # Test-NodeDraining: whether the last database-version.sql output says this node is draining.
    function Test-NodeDraining {
        $value = Get-SqlValue 'node_draining'
        return ($value -eq '1' -or $value -eq 'true')
    }
