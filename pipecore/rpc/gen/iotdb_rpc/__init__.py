__all__ = ['ttypes', 'constants', 'IClientRPCService']
